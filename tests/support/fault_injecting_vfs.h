// A SQLite VFS over the platform's own that fails writes to write-ahead log
// files on demand: a disk that refuses a COMMIT (SQLITE_IOERR_WRITE) the way
// a full or failing disk does, with no test hook in the code under test.
//
// Connection::Open uses SQLite's default VFS, so a connection goes through
// this one when it is opened inside a DefaultScope:
//
//   FaultInjectingVfs& vfs = FaultInjectingVfs::Instance();
//   { FaultInjectingVfs::DefaultScope scope(vfs); conn = Connection::Open(...); }
//   vfs.FailWalWrites(true);   // the next COMMIT that writes fails
//
// In WAL mode a transaction's pages reach the log only at COMMIT, so while
// failing is on, BEGIN and every statement of a transaction succeed and its
// COMMIT fails; a transaction that changed nothing still commits.
//
// One instance per process, registered once and never unregistered (open
// connections keep pointers to it). Thread-safe: the switch is atomic.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstring>

namespace cloister::testing {

class FaultInjectingVfs {
 public:
  static FaultInjectingVfs& Instance() {
    static FaultInjectingVfs* vfs = new FaultInjectingVfs();  // never destroyed: connections may outlive tests
    return *vfs;
  }

  // Makes this the default VFS for its lifetime, then restores the previous one.
  class DefaultScope {
   public:
    explicit DefaultScope(FaultInjectingVfs& vfs) : previous_(sqlite3_vfs_find(nullptr)) {
      sqlite3_vfs_register(&vfs.vfs_, 1);
    }
    ~DefaultScope() { sqlite3_vfs_register(previous_, 1); }
    DefaultScope(const DefaultScope&) = delete;
    DefaultScope& operator=(const DefaultScope&) = delete;

   private:
    sqlite3_vfs* previous_;
  };

  void FailWalWrites(bool fail) { fail_wal_writes_ = fail; }
  int failed_writes() const { return failed_writes_; }

 private:
  struct File {
    sqlite3_file base;  // first: SQLite sees a File as a sqlite3_file
    sqlite3_file* real;
    bool wal;
  };

  FaultInjectingVfs() : real_(sqlite3_vfs_find(nullptr)) {
    vfs_ = *real_;
    vfs_.iVersion = real_->iVersion < 3 ? real_->iVersion : 3;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.pNext = nullptr;
    vfs_.zName = "cloister-fault-injecting";
    vfs_.pAppData = this;
    vfs_.xOpen = &Open;
    sqlite3_vfs_register(&vfs_, 0);
  }

  static FaultInjectingVfs& Of(sqlite3_vfs* vfs) { return *static_cast<FaultInjectingVfs*>(vfs->pAppData); }
  static File& Of(sqlite3_file* f) { return *reinterpret_cast<File*>(f); }
  static sqlite3_file* Real(sqlite3_file* f) { return Of(f).real; }

  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    FaultInjectingVfs& self = Of(vfs);
    File& file = Of(f);
    file.real = reinterpret_cast<sqlite3_file*>(&file + 1);
    std::memset(file.real, 0, self.real_->szOsFile);
    file.wal = (flags & SQLITE_OPEN_WAL) != 0;
    const int rc = self.real_->xOpen(self.real_, name, file.real, flags, out_flags);
    // A null pMethods tells SQLite there is nothing to close.
    file.base.pMethods = file.real->pMethods ? &kMethods : nullptr;
    return rc;
  }

  static int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
  static int Read(sqlite3_file* f, void* out, int n, sqlite3_int64 at) {
    return Real(f)->pMethods->xRead(Real(f), out, n, at);
  }
  static int Write(sqlite3_file* f, const void* data, int n, sqlite3_int64 at) {
    FaultInjectingVfs& self = Instance();
    if (Of(f).wal && self.fail_wal_writes_) {
      ++self.failed_writes_;
      return SQLITE_IOERR_WRITE;
    }
    return Real(f)->pMethods->xWrite(Real(f), data, n, at);
  }
  static int Truncate(sqlite3_file* f, sqlite3_int64 size) { return Real(f)->pMethods->xTruncate(Real(f), size); }
  static int Sync(sqlite3_file* f, int flags) { return Real(f)->pMethods->xSync(Real(f), flags); }
  static int FileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
  static int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
  static int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
  static int CheckReservedLock(sqlite3_file* f, int* out) {
    return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
  }
  static int FileControl(sqlite3_file* f, int op, void* arg) { return Real(f)->pMethods->xFileControl(Real(f), op, arg); }
  static int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
  static int DeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
  static int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
  }
  static int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
    return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
  }
  static void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
  static int ShmUnmap(sqlite3_file* f, int delete_flag) { return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag); }
  // No memory-mapped reads: every page goes through Read.
  static int Fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
    *out = nullptr;
    return SQLITE_OK;
  }
  static int Unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

  static constexpr sqlite3_io_methods kMethods = {
      3,     &Close,       &Read,       &Write,       &Truncate,   &Sync,    &FileSize,
      &Lock, &Unlock,      &CheckReservedLock, &FileControl, &SectorSize, &DeviceCharacteristics,
      &ShmMap, &ShmLock,   &ShmBarrier, &ShmUnmap,    &Fetch,      &Unfetch};

  sqlite3_vfs* real_;
  sqlite3_vfs vfs_{};
  std::atomic<bool> fail_wal_writes_{false};
  std::atomic<int> failed_writes_{0};
};

}  // namespace cloister::testing
