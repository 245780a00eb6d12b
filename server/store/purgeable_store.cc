#include "server/store/purgeable_store.h"

#include <algorithm>
#include <memory>
#include <utility>

namespace corosched::server {
namespace {

// One chunk, then the next from its answer; `delete_chunk` is shared by
// the chunks of one purge.
void NextChunk(std::shared_ptr<DeleteFinishedChunk> delete_chunk,
               int chunk_tasks, int remaining, int deleted,
               TaskStore::Done<int> done) {
  const int chunk = std::min(remaining, std::max(1, chunk_tasks));
  if (chunk <= 0) {
    std::move(done)(deleted);
    return;
  }
  DeleteFinishedChunk& run = *delete_chunk;
  run(chunk,
      [delete_chunk = std::move(delete_chunk), chunk_tasks, remaining, deleted,
       chunk, done = std::move(done)](absl::StatusOr<int> removed) mutable {
        if (!removed.ok()) {
          std::move(done)(removed.status());
        } else if (*removed < chunk) {
          std::move(done)(deleted + *removed);  // nothing older is left
        } else {
          NextChunk(std::move(delete_chunk), chunk_tasks, remaining - *removed,
                    deleted + *removed, std::move(done));
        }
      });
}

}  // namespace

void PurgeInChunks(int chunk_tasks, int max_rows,
                   DeleteFinishedChunk delete_chunk,
                   TaskStore::Done<int> done) {
  NextChunk(std::make_shared<DeleteFinishedChunk>(std::move(delete_chunk)),
            chunk_tasks, max_rows, 0, std::move(done));
}

}  // namespace corosched::server
