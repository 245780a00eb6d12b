#include "server/auth/credential_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/daemon/logging.h"
#include "spdlog/spdlog.h"

namespace corosched::server {
namespace {

// Credential files are small; a bigger one is a mistake, not a file to
// read into memory.
constexpr std::streamsize kMaxFileBytes = 16 << 20;

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        "cannot read it: ", std::generic_category().message(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::DataLossError("read error");
  if (contents.tellp() > kMaxFileBytes) {
    return absl::InvalidArgumentError("larger than 16 MiB");
  }
  return std::move(contents).str();
}

}  // namespace

CredentialFiles::CredentialFiles(Options options)
    : options_(std::move(options)),
      tokens_file_{"--auth-tokens", options_.tokens_file, {}},
      jwt_key_file_{"--jwt-key", options_.jwt_key_file, {}} {}

absl::StatusOr<std::unique_ptr<CredentialFiles>> CredentialFiles::Load(
    Options options) {
  std::unique_ptr<CredentialFiles> files(
      new CredentialFiles(std::move(options)));
  for (WatchedFile* file : {&files->tokens_file_, &files->jwt_key_file_}) {
    if (file->path.empty()) continue;
    file->last = Stat(file->path);
    if (absl::Status read = files->Read(*file); !read.ok()) return read;
  }
  return files;
}

CredentialFiles::~CredentialFiles() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
}

std::shared_ptr<const CredentialTable> CredentialFiles::tokens() const {
  absl::MutexLock lock(&mu_);
  return tokens_;
}

std::shared_ptr<const JwtVerifier> CredentialFiles::jwt() const {
  absl::MutexLock lock(&mu_);
  return jwt_;
}

CredentialFiles::Fingerprint CredentialFiles::Stat(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return Fingerprint{};
  return Fingerprint{
      .exists = true,
      .device = static_cast<uint64_t>(info.st_dev),
      .inode = static_cast<uint64_t>(info.st_ino),
      .size = static_cast<int64_t>(info.st_size),
      .mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 +
                  info.st_mtim.tv_nsec,
  };
}

absl::Status CredentialFiles::Read(WatchedFile& file) {
  absl::StatusOr<std::string> contents = ReadSmallFile(file.path);
  absl::Status parsed = contents.status();
  if (contents.ok() && &file == &tokens_file_) {
    absl::StatusOr<CredentialTable> table = CredentialTable::Parse(*contents);
    parsed = table.status();
    if (table.ok()) {
      auto shared = std::make_shared<const CredentialTable>(*std::move(table));
      absl::MutexLock lock(&mu_);
      tokens_ = std::move(shared);
    }
  } else if (contents.ok()) {
    absl::StatusOr<JwtVerifier> verifier =
        JwtVerifier::Create(*contents, options_.jwt_rules);
    parsed = verifier.status();
    if (verifier.ok()) {
      auto shared = std::make_shared<const JwtVerifier>(*std::move(verifier));
      absl::MutexLock lock(&mu_);
      jwt_ = std::move(shared);
    }
  }
  if (parsed.ok()) return parsed;
  return absl::Status(parsed.code(), absl::StrCat(file.flag, " ", file.path,
                                                  ": ", parsed.message()));
}

void CredentialFiles::CheckForChanges() {
  for (WatchedFile* file : {&tokens_file_, &jwt_key_file_}) {
    if (file->path.empty()) continue;
    const Fingerprint now = Stat(file->path);
    if (now == file->last) continue;
    file->last = now;
    absl::Status read = Read(*file);
    if (read.ok()) {
      spdlog::info("event=credentials_reloaded file={}", LogValue(file->path));
    } else {
      spdlog::error(
          "event=credentials_reload_failed file={} error={} "
          "kept=previous_credentials",
          LogValue(file->path), LogValue(read.message()));
    }
    if (options_.observer != nullptr) {
      options_.observer->OnCredentialsReloaded(read.ok());
    }
  }
}

void CredentialFiles::StartWatching(absl::Duration interval) {
  if (watcher_.joinable()) return;
  watcher_ = std::thread([this, interval] { Watch(interval); });
}

void CredentialFiles::Watch(absl::Duration interval) {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    // Wakes early only to stop.
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval)) break;
    mu_.Unlock();
    CheckForChanges();
    mu_.Lock();
  }
}

}  // namespace corosched::server
