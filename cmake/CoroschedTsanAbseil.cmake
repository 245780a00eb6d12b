# Abseil for the ThreadSanitizer build, compiled from source with -fsanitize=thread.
#
# Why: Debian's libabsl is not built with ThreadSanitizer, so absl::Mutex's lock and
# unlock happen in code TSan cannot see. Every ABSL_GUARDED_BY field touched by two
# threads is then reported as a data race, even when each access holds the mutex.
# Abseil built with -fsanitize=thread carries its own TSan annotations and is exact.
#
# The source is Debian's own upstream tarball of the same release as libabsl-dev
# (20220623.1), pinned by the SHA-256 from Debian's signed .dsc. Offline, point
# -DFETCHCONTENT_SOURCE_DIR_ABSL=<unpacked abseil-20220623.1> at a local copy (it gets
# the backport below applied in place).
# Only the Abseil libraries our targets link are compiled (EXCLUDE_FROM_ALL).
#
# One upstream fix is backported: 20220623's Mutex::IncrementSynchSem posts to another
# thread's semaphore inside the mutex's own (deliberately unannotated) synchronization,
# which TSan reports as a race on that thread's identity (abseil-cpp issues #760, #1239;
# fixed upstream by ignoring accesses around the Post, as done here).

include(FetchContent)

function(_corosched_backport_absl_tsan_fix file)
  file(READ ${file} text)
  set(ignored_post [[
  ABSL_ANNOTATE_IGNORE_READS_AND_WRITES_BEGIN();  // Backported by Corosched.
  PerThreadSem::Post(w->thread_identity());
  ABSL_ANNOTATE_IGNORE_READS_AND_WRITES_END();
]])
  string(FIND "${text}" "${ignored_post}" already_patched)
  if(already_patched GREATER_EQUAL 0)
    return()
  endif()
  set(plain_post "  PerThreadSem::Post(w->thread_identity());\n")
  string(FIND "${text}" "${plain_post}" at)
  if(at LESS 0)
    message(FATAL_ERROR "Abseil TSan backport: the expected line is not in ${file}")
  endif()
  string(REPLACE "${plain_post}" "${ignored_post}" text "${text}")
  file(WRITE ${file} "${text}")
endfunction()

FetchContent_Declare(absl
  URL https://deb.debian.org/debian/pool/main/a/abseil/abseil_20220623.1.orig.tar.gz
  URL_HASH SHA256=abfe2897f3a30edaa74bc34365afe3c2a3cd012091a97dc7e008f7016adcd5fe
  DOWNLOAD_EXTRACT_TIMESTAMP ON)

FetchContent_GetProperties(absl)
if(NOT absl_POPULATED)
  FetchContent_Populate(absl)
  _corosched_backport_absl_tsan_fix(${absl_SOURCE_DIR}/absl/synchronization/mutex.cc)
  block()
    # Abseil asks for CMake 3.5, whose option() would drop a plain variable set here.
    set(CMAKE_POLICY_DEFAULT_CMP0077 NEW)
    set(ABSL_PROPAGATE_CXX_STD ON)
    set(ABSL_ENABLE_INSTALL OFF)
    set(ABSL_BUILD_TESTING OFF)
    # SYSTEM: Abseil's headers come in with -isystem, so our -Werror does not judge them.
    add_subdirectory(${absl_SOURCE_DIR} ${absl_BINARY_DIR} EXCLUDE_FROM_ALL SYSTEM)
  endblock()
endif()
