// swift-tools-version:5.9
import PackageDescription

/// A system library found through pkg-config; `apt` names the Debian package that provides it,
/// so a build on a machine without it says what to install.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let package = Package(
    name: "cnnsep",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cnnsep", targets: ["cnnsep"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        systemLibrary("CBLAS", pkgConfig: "openblas", apt: "libopenblas-dev"),
        systemLibrary("CFFTW", pkgConfig: "fftw3f", apt: "libfftw3-dev"),
        systemLibrary("CSndFile", pkgConfig: "sndfile", apt: "libsndfile1-dev"),
        systemLibrary("CHDF5", pkgConfig: "hdf5", apt: "libhdf5-dev"),
        systemLibrary("CSoxr", pkgConfig: "soxr", apt: "libsoxr-dev"),
        systemLibrary("CCairo", pkgConfig: "cairo", apt: "libcairo2-dev"),

        // Errors, atomic file writes, progress display, JSON helpers: shared by every module.
        .target(name: "Support"),
        // Tensors and reverse-mode autodiff on BLAS; knows nothing about audio.
        .target(name: "Autodiff", dependencies: ["CBLAS"]),
        // Audio files, resampling, STFT, metrics; knows nothing about networks.
        .target(name: "Audio", dependencies: ["Support", "CBLAS", "CFFTW", "CSndFile", "CSoxr"]),
        // Model, loss, optimizer, data, training, checkpoints, separation.
        .target(name: "Separation", dependencies: ["Support", "Autodiff", "Audio", "CHDF5", "CBLAS"]),
        // Figures (spectrograms, masks, curves) drawn with cairo.
        .target(name: "Plot", dependencies: ["Support", "CCairo"], exclude: ["make_colormaps.py"]),
        .executableTarget(name: "cnnsep", dependencies: [
            "Support", "Autodiff", "Audio", "Separation", "Plot", "CBLAS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "AutodiffTests", dependencies: ["Autodiff"]),
        .testTarget(name: "AudioTests", dependencies: ["Audio", "Support"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SeparationTests", dependencies: ["Separation", "Autodiff", "Audio", "Support"]),
        .testTarget(name: "PlotTests", dependencies: ["Plot", "Support"]),
    ]
)
