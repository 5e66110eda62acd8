import DutyDaemon
import Foundation

exit(DaemonCommand.main(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment))
