# The memory allocator of the daemon and of the echo server it is measured against.
#
# COROSCHED_MALLOC=tcmalloc (the default outside sanitizer builds) links gperftools'
# tcmalloc_minimal (Debian: libgoogle-perftools-dev; at run time libtcmalloc-minimal4):
# per-thread caches with no arena lock, where glibc's malloc locks the arena of every
# block freed by a thread other than the one that allocated it. The daemon does that all
# the time: a task is admitted on a gRPC thread and retired on an executor worker.
# docs/PERFORMANCE.md ("The allocator") has the measurement. COROSCHED_MALLOC="" keeps
# glibc's malloc; sanitizer builds always do (they bring their own allocator).

if(COROSCHED_SANITIZER STREQUAL "")
  set(_corosched_malloc_default tcmalloc)
else()
  set(_corosched_malloc_default "")
endif()
set(COROSCHED_MALLOC "${_corosched_malloc_default}" CACHE STRING
  "Allocator of the daemon and the echo server: tcmalloc, or \"\" for glibc's malloc")
set_property(CACHE COROSCHED_MALLOC PROPERTY STRINGS "" tcmalloc)
if(NOT COROSCHED_SANITIZER STREQUAL "" AND NOT COROSCHED_MALLOC STREQUAL "")
  message(FATAL_ERROR "COROSCHED_MALLOC=${COROSCHED_MALLOC} cannot be combined with "
    "COROSCHED_SANITIZER=${COROSCHED_SANITIZER}: the sanitizer replaces malloc itself")
endif()
if(COROSCHED_MALLOC STREQUAL "tcmalloc")
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(COROSCHED_TCMALLOC REQUIRED IMPORTED_TARGET libtcmalloc_minimal)
elseif(NOT COROSCHED_MALLOC STREQUAL "")
  message(FATAL_ERROR "COROSCHED_MALLOC must be tcmalloc or empty, not "
    "'${COROSCHED_MALLOC}'")
endif()

# corosched_link_malloc(<executable>)
#   Links the chosen allocator into <executable> (nothing for glibc's malloc).
function(corosched_link_malloc target)
  if(COROSCHED_MALLOC STREQUAL "tcmalloc")
    target_link_libraries(${target} PRIVATE PkgConfig::COROSCHED_TCMALLOC)
  endif()
endfunction()
