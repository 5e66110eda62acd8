import DutyCLI
import Foundation

let console = Console.standard()
let status = DutyCLI.main(Array(CommandLine.arguments.dropFirst()), console: console)
console.flush()
exit(status)
