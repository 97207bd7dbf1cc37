# Every third-party package comes from Debian 12 (see scripts/setup-deps.sh).
find_package(Threads REQUIRED)
find_package(RocksDB CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json)
