# Sanitizer builds, selected with -DCOROSCHED_SANITIZER=<"" | address | thread>.
#
#   address  AddressSanitizer + UndefinedBehaviorSanitizer; any UB report aborts the test.
#   thread   ThreadSanitizer. Needs COROSCHED_CORE_ONLY=ON, see CoroschedTsanAbseil.cmake.
#
# The flags go on every target (compile and link), including third-party code built from
# source, because a sanitizer must see both sides of a race or an allocation to judge it.
# Must be included before any target is defined.

set(_corosched_sanitizer_flags "")
if(COROSCHED_SANITIZER STREQUAL "address")
  # -fno-sanitize=function: clang 14 cannot emit UBSan's function-type check for C++20
  # coroutines ("error: Cannot represent a difference across sections", llvm-project
  # #49689). It only checks calls through mistyped function pointers; the rest of UBSan
  # stays on.
  set(_corosched_sanitizer_flags
    -fsanitize=address,undefined -fno-sanitize=function -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
elseif(COROSCHED_SANITIZER STREQUAL "thread")
  if(NOT COROSCHED_CORE_ONLY)
    message(FATAL_ERROR
      "COROSCHED_SANITIZER=thread needs -DCOROSCHED_CORE_ONLY=ON: the thread build uses an "
      "Abseil compiled with ThreadSanitizer, which cannot be mixed with the Debian Abseil "
      "that gRPC links.")
  endif()
  set(_corosched_sanitizer_flags -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT COROSCHED_SANITIZER STREQUAL "")
  message(FATAL_ERROR
    "COROSCHED_SANITIZER='${COROSCHED_SANITIZER}': expected \"\", \"address\" or \"thread\"")
endif()

if(_corosched_sanitizer_flags)
  string(JOIN " " _corosched_flags_text ${_corosched_sanitizer_flags})
  message(STATUS "Corosched: sanitizer '${COROSCHED_SANITIZER}': ${_corosched_flags_text}")
  unset(_corosched_flags_text)
  add_compile_options(${_corosched_sanitizer_flags})
  add_link_options(${_corosched_sanitizer_flags})
endif()
unset(_corosched_sanitizer_flags)
