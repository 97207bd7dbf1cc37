// The catalog's RocksDB diagnostic log ("info log"). RocksDB's default writes a LOG file inside
// the catalog folder through a WritableFileWriter that, once a write to it has failed (ENOSPC),
// asserts on the next append — and Debian's RocksDB is built with assertions, so the first
// message logged after a full-disk episode (RocksDB logs every background error) aborts the
// process. This logger keeps nothing on the catalog's disk, so a full disk can only make catalog
// writes fail, never abort. It forwards only FATAL lines to stderr: RocksDB's ERROR lines repeat
// every few seconds while a disk stays full (and one is printed whenever a catalog is created),
// and the errors that matter reach the caller as a Status, which the viewer logs once.
//
// Thread safety: RocksDB calls it from any of its threads; stderr writes are atomic per line.
#pragma once

#include <memory>

#include <rocksdb/env.h>

namespace runtrack::catalog {

// A logger for rocksdb::Options::info_log: FATAL lines go to stderr (prefixed
// "runtrack catalog: "), everything below is dropped.
std::shared_ptr<rocksdb::Logger> MakeCatalogInfoLog();

}  // namespace runtrack::catalog
