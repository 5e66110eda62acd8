// swift-tools-version: 6.0
import PackageDescription

// duty has no package dependencies by design: Foundation, Dispatch, Glibc,
// Synchronization and system C libraries only.
let package = Package(
    name: "duty",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "duty", targets: ["duty"]),
        .executable(name: "dutyd", targets: ["dutyd"]),
    ],
    targets: [
        .target(name: "DutyCore"),
        .target(name: "DutyPolicy", dependencies: ["DutyCore"]),
        .target(name: "DutyEngine", dependencies: ["DutyCore", "DutyPolicy"]),
        .target(name: "DutyDaemon", dependencies: ["DutyCore", "DutyPolicy", "DutyEngine"]),
        .target(name: "DutyCLI", dependencies: ["DutyCore", "DutyPolicy"]),
        .executableTarget(name: "duty", dependencies: ["DutyCLI"]),
        .executableTarget(name: "dutyd", dependencies: ["DutyDaemon"]),
        .executableTarget(name: "duty-bench", dependencies: ["DutyCore", "DutyPolicy", "DutyEngine"]),
        .testTarget(name: "DutyCoreTests", dependencies: ["DutyCore"]),
        .testTarget(name: "DutyPolicyTests", dependencies: ["DutyCore", "DutyPolicy"]),
        .testTarget(name: "DutyEngineTests", dependencies: ["DutyCore", "DutyPolicy", "DutyEngine"]),
        .testTarget(name: "DutyCLITests", dependencies: ["DutyCLI", "DutyCore", "DutyPolicy"]),
        .testTarget(name: "IntegrationTests", dependencies: ["DutyCore", "duty", "dutyd"]),
    ],
    swiftLanguageModes: [.v6]
)
