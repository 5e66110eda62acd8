import DutyCLI
import Foundation

exit(DutyCLI.main(Array(CommandLine.arguments.dropFirst()), console: .standard()))
