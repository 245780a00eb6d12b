# Compiler warnings for Corosched's own targets.
#
# Applied per target, never globally, so code we do not own (protoc's generated sources,
# Abseil built from source for ThreadSanitizer) is compiled without -Werror: the proto
# target simply does not call this function.

# corosched_set_warnings(<target>)
#   Turns on -Wall -Wextra -Wshadow -Werror for <target>, and with clang also
#   -Wthread-safety, which checks ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED.
function(corosched_set_warnings target)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "corosched_set_warnings: '${target}' is not a target")
  endif()
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wshadow -Werror
    $<$<COMPILE_LANG_AND_ID:CXX,Clang>:-Wthread-safety>
    $<$<COMPILE_LANG_AND_ID:C,Clang>:-Wthread-safety>)
endfunction()
