# Every third-party package comes from Debian 12 (see scripts/setup-deps.sh).
find_package(Threads REQUIRED)
find_package(RocksDB CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json)
find_package(yaml-cpp REQUIRED)
# zstd has no CMake config file in Debian; its pkg-config file gives the imported target.
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
# libcurl: the journal shipper's HTTP client (lib/remote/shipper.cpp).
find_package(CURL REQUIRED)
