// swift-tools-version: 6.0
import PackageDescription

// duty has no package dependencies by design: Foundation, Dispatch, Glibc,
// Synchronization and system C libraries only.

// The engine's hot loops read and write class properties millions of times a run; in release builds the
// dynamic exclusivity checks on those accesses cost about a tenth of a simulation. Debug builds (and so every
// test run) keep them.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
let package = Package(
    name: "duty",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "duty", targets: ["duty"]),
        .executable(name: "dutyd", targets: ["dutyd"]),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .target(name: "CShims"),
        .target(name: "DutyCore"),
        .target(name: "DutyPolicy", dependencies: ["DutyCore"], swiftSettings: hotPath),
        .target(name: "DutyEngine", dependencies: ["DutyCore", "DutyPolicy"], swiftSettings: hotPath),
        .target(name: "DutyStore", dependencies: ["DutyCore", "CSQLite", "CCrypto"]),
        .target(name: "DutyControl", dependencies: ["DutyCore"]),
        .target(name: "DutyState", dependencies: ["DutyCore", "DutyPolicy", "DutyEngine", "DutyStore"]),
        .target(name: "DutySim", dependencies: ["DutyCore", "DutyPolicy", "DutyEngine"], swiftSettings: hotPath),
        .target(name: "DutyReport", dependencies: ["DutyCore"]),
        .target(
            name: "DutyDaemon",
            dependencies: ["DutyCore", "DutyPolicy", "DutyEngine", "DutyStore", "DutyState", "DutyControl", "CShims"]),
        .target(
            name: "DutyCLI",
            dependencies: [
                "DutyCore", "DutyPolicy", "DutyEngine", "DutyControl", "DutyStore", "DutyState", "DutySim",
                "DutyReport",
            ]),
        .executableTarget(name: "duty", dependencies: ["DutyCLI"]),
        .executableTarget(name: "dutyd", dependencies: ["DutyDaemon"]),
        .executableTarget(name: "duty-bench", dependencies: ["DutyCore", "DutyPolicy", "DutyEngine", "DutyStore"]),
        // Test helper: a process the crash-safety tests kill, and a reader that drops privileges.
        .executableTarget(
            name: "duty-soak", dependencies: ["DutyCore", "DutyDaemon", "CSQLite"], path: "Tests/Soak"),
        .executableTarget(name: "duty-store-probe", dependencies: ["DutyCore", "DutyStore"], path: "Tests/StoreProbe"),
        .testTarget(name: "DutyCoreTests", dependencies: ["DutyCore"]),
        .testTarget(name: "DutyPolicyTests", dependencies: ["DutyCore", "DutyPolicy"]),
        .testTarget(name: "DutyEngineTests", dependencies: ["DutyCore", "DutyPolicy", "DutyEngine"]),
        .testTarget(name: "DutySimTests", dependencies: ["DutyCore", "DutySim"]),
        .testTarget(name: "DutyStoreTests", dependencies: ["DutyCore", "DutyStore", "duty-store-probe"]),
        .testTarget(
            name: "DutyCLITests", dependencies: ["DutyCLI", "DutyCore", "DutyPolicy", "DutySim", "DutyReport"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["DutyCore", "DutyPolicy", "DutyStore", "DutyControl", "duty", "dutyd"]),
    ],
    swiftLanguageModes: [.v6]
)
