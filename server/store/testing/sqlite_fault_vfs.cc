#include "server/store/testing/sqlite_fault_vfs.h"

#include <algorithm>
#include <utility>

namespace corosched::server {
namespace {

// Our file: SQLite allocates szOsFile bytes, we put the real VFS's file
// right after this header.
struct FaultFile {
  sqlite3_file base;
  SqliteFaultVfs* vfs;
  sqlite3_file* real;
};

sqlite3_file* Real(sqlite3_file* file) {
  return reinterpret_cast<FaultFile*>(file)->real;
}

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* data, int amount, sqlite3_int64 offset) {
  return Real(f)->pMethods->xRead(Real(f), data, amount, offset);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) {
  return Real(f)->pMethods->xLock(Real(f), level);
}
int Unlock(sqlite3_file* f, int level) {
  return Real(f)->pMethods->xUnlock(Real(f), level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) {
  return Real(f)->pMethods->xSectorSize(Real(f));
}
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int size, int extend,
           void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int remove) {
  return Real(f)->pMethods->xShmUnmap(Real(f), remove);
}
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), offset, amount, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* data) {
  return Real(f)->pMethods->xUnfetch(Real(f), offset, data);
}

}  // namespace

std::unique_ptr<SqliteFaultVfs> SqliteFaultVfs::Register(
    const std::string& name) {
  sqlite3_initialize();
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr || sqlite3_vfs_find(name.c_str()) != nullptr) {
    return nullptr;
  }
  std::unique_ptr<SqliteFaultVfs> vfs(new SqliteFaultVfs(name, real));
  if (sqlite3_vfs_register(&vfs->vfs_, /*makeDflt=*/0) != SQLITE_OK) {
    return nullptr;
  }
  return vfs;
}

SqliteFaultVfs::SqliteFaultVfs(std::string name, sqlite3_vfs* real)
    : name_(std::move(name)), real_(real) {
  vfs_.iVersion = 2;
  vfs_.szOsFile = static_cast<int>(sizeof(FaultFile)) + real->szOsFile;
  vfs_.mxPathname = real->mxPathname;
  vfs_.zName = name_.c_str();
  vfs_.pAppData = this;
  vfs_.xOpen = &SqliteFaultVfs::Open;
  ForwardVfsMethods();
}

SqliteFaultVfs::~SqliteFaultVfs() { sqlite3_vfs_unregister(&vfs_); }

SqliteFaultVfs* SqliteFaultVfs::From(sqlite3_vfs* vfs) {
  return static_cast<SqliteFaultVfs*>(vfs->pAppData);
}

void SqliteFaultVfs::ForwardVfsMethods() {
  using Symbol = void (*)(void);
  vfs_.xDelete = [](sqlite3_vfs* v, const char* name, int sync_dir) {
    return From(v)->real_->xDelete(From(v)->real_, name, sync_dir);
  };
  vfs_.xAccess = [](sqlite3_vfs* v, const char* name, int flags, int* out) {
    return From(v)->real_->xAccess(From(v)->real_, name, flags, out);
  };
  vfs_.xFullPathname = [](sqlite3_vfs* v, const char* name, int n, char* out) {
    return From(v)->real_->xFullPathname(From(v)->real_, name, n, out);
  };
  vfs_.xDlOpen = [](sqlite3_vfs* v, const char* name) {
    return From(v)->real_->xDlOpen(From(v)->real_, name);
  };
  vfs_.xDlError = [](sqlite3_vfs* v, int n, char* out) {
    From(v)->real_->xDlError(From(v)->real_, n, out);
  };
  vfs_.xDlSym = [](sqlite3_vfs* v, void* handle, const char* name) -> Symbol {
    return From(v)->real_->xDlSym(From(v)->real_, handle, name);
  };
  vfs_.xDlClose = [](sqlite3_vfs* v, void* handle) {
    From(v)->real_->xDlClose(From(v)->real_, handle);
  };
  vfs_.xRandomness = [](sqlite3_vfs* v, int n, char* out) {
    return From(v)->real_->xRandomness(From(v)->real_, n, out);
  };
  vfs_.xSleep = [](sqlite3_vfs* v, int micros) {
    return From(v)->real_->xSleep(From(v)->real_, micros);
  };
  vfs_.xCurrentTime = [](sqlite3_vfs* v, double* out) {
    return From(v)->real_->xCurrentTime(From(v)->real_, out);
  };
  vfs_.xGetLastError = [](sqlite3_vfs* v, int n, char* out) {
    return From(v)->real_->xGetLastError(From(v)->real_, n, out);
  };
  vfs_.xCurrentTimeInt64 = [](sqlite3_vfs* v, sqlite3_int64* out) {
    return From(v)->real_->xCurrentTimeInt64(From(v)->real_, out);
  };
}

int SqliteFaultVfs::Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file,
                         int flags, int* out_flags) {
  // One table per io_methods version, so SQLite never calls a method the
  // real file does not have.
  static const sqlite3_io_methods kMethods[3] = {
      {1, Close, Read, Write, Truncate, Sync, FileSize, Lock, Unlock,
       CheckReservedLock, FileControl, SectorSize, DeviceCharacteristics,
       nullptr, nullptr, nullptr, nullptr, nullptr, nullptr},
      {2, Close, Read, Write, Truncate, Sync, FileSize, Lock, Unlock,
       CheckReservedLock, FileControl, SectorSize, DeviceCharacteristics,
       ShmMap, ShmLock, ShmBarrier, ShmUnmap, nullptr, nullptr},
      {3, Close, Read, Write, Truncate, Sync, FileSize, Lock, Unlock,
       CheckReservedLock, FileControl, SectorSize, DeviceCharacteristics,
       ShmMap, ShmLock, ShmBarrier, ShmUnmap, Fetch, Unfetch},
  };
  auto* fault_file = reinterpret_cast<FaultFile*>(file);
  fault_file->base.pMethods = nullptr;
  fault_file->vfs = From(vfs);
  fault_file->real = reinterpret_cast<sqlite3_file*>(fault_file + 1);
  sqlite3_vfs* real = From(vfs)->real_;
  int rc = real->xOpen(real, name, fault_file->real, flags, out_flags);
  const sqlite3_io_methods* methods = fault_file->real->pMethods;
  if (methods != nullptr) {
    fault_file->base.pMethods =
        &kMethods[std::clamp(methods->iVersion, 1, 3) - 1];
  }
  return rc;
}

int SqliteFaultVfs::Write(sqlite3_file* file, const void* data, int amount,
                          sqlite3_int64 offset) {
  auto* fault_file = reinterpret_cast<FaultFile*>(file);
  if (int error = fault_file->vfs->write_error_.load(); error != SQLITE_OK) {
    return error;
  }
  return Real(file)->pMethods->xWrite(Real(file), data, amount, offset);
}

int SqliteFaultVfs::Sync(sqlite3_file* file, int flags) {
  auto* fault_file = reinterpret_cast<FaultFile*>(file);
  if (int error = fault_file->vfs->sync_error_.load(); error != SQLITE_OK) {
    return error;
  }
  int rc = Real(file)->pMethods->xSync(Real(file), flags);
  if (rc == SQLITE_OK) fault_file->vfs->syncs_.fetch_add(1);
  return rc;
}

}  // namespace corosched::server
