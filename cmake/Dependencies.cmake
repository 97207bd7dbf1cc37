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
# ISA-L (libisal-dev): CRC-32C with carry-less multiplication, ~3x the SSE4.2 instruction's speed;
# optional, lib/segments/lod_blocks.cpp falls back to its own SSE4.2 code without it.
pkg_check_modules(ISAL IMPORTED_TARGET libisal)
# libcurl: the journal shipper's HTTP client (lib/remote/shipper.cpp).
find_package(CURL REQUIRED)
