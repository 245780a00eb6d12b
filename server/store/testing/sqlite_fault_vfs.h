#pragma once

// A SQLite VFS for tests: it forwards everything to the default VFS, counts
// syncs, and fails writes or syncs on demand, the way a full disk or a dying
// one would. The store opens its files through it by name:
//
//   std::unique_ptr<SqliteFaultVfs> vfs = SqliteFaultVfs::Register("faulty");
//   SqliteStore::Open({.data_dir = dir, .vfs = vfs->name()});
//   vfs->FailSyncs();          // every fsync from now on returns an error
//
// Thread-safety: the controls may be called from any thread while
// connections use the VFS. Register and the destructor must not race with
// opening a connection through it.

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace corosched::server {

class SqliteFaultVfs {
 public:
  // Registers a VFS called `name` (never the default one). Null when a VFS
  // of that name exists or the default VFS is missing.
  static std::unique_ptr<SqliteFaultVfs> Register(const std::string& name);
  // Unregisters it. REQUIRES: every connection opened through it is closed.
  ~SqliteFaultVfs();
  SqliteFaultVfs(const SqliteFaultVfs&) = delete;
  SqliteFaultVfs& operator=(const SqliteFaultVfs&) = delete;

  // From now on every xSync returns `code` without syncing.
  void FailSyncs(int code = SQLITE_IOERR_FSYNC) { sync_error_.store(code); }
  // From now on every xWrite returns `code` (SQLITE_FULL for a full disk)
  // without writing.
  void FailWrites(int code = SQLITE_IOERR_WRITE) { write_error_.store(code); }
  // Back to forwarding everything.
  void Heal() {
    sync_error_.store(SQLITE_OK);
    write_error_.store(SQLITE_OK);
  }

  // Syncs that reached the real file, since Register.
  int64_t syncs() const { return syncs_.load(); }
  const std::string& name() const { return name_; }

 private:
  SqliteFaultVfs(std::string name, sqlite3_vfs* real);
  static SqliteFaultVfs* From(sqlite3_vfs* vfs);
  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file,
                  int flags, int* out_flags);
  static int Write(sqlite3_file* file, const void* data, int amount,
                   sqlite3_int64 offset);
  static int Sync(sqlite3_file* file, int flags);
  void ForwardVfsMethods();

  const std::string name_;
  sqlite3_vfs* const real_;
  sqlite3_vfs vfs_{};
  // Plain counters and codes: no ordering with other memory is needed, each
  // is read and written on its own (seq_cst defaults, not on a hot path).
  std::atomic<int> sync_error_{SQLITE_OK};
  std::atomic<int> write_error_{SQLITE_OK};
  std::atomic<int64_t> syncs_{0};
};

}  // namespace corosched::server
