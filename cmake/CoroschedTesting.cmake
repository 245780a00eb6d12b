# Unit and end-to-end tests: one GoogleTest executable per call, each TEST() a ctest case.

include(GoogleTest)

# corosched_add_test(NAME <name> SOURCES <src>... [DEPS <target>...] [LABELS <label>...]
#                    [RUNNER <command>...])
#   Builds <name> from SOURCES, links DEPS plus GTest::gmock and GTest::gtest_main, turns
#   on our warnings, and registers every test case with ctest. Discovery runs just before
#   the tests (DISCOVERY_MODE PRE_TEST), so a sanitizer build that cannot even list its
#   tests fails in ctest where its report is visible, not at build time.
#   LABELS become ctest labels (select with `ctest -L <label>`, skip with `-LE`).
#   RUNNER runs every test case (and the discovery) under a command that starts what the
#   tests need and then runs its arguments, such as tests/testing/postgres.sh.
function(corosched_add_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME" "SOURCES;DEPS;LABELS;RUNNER")
  if(NOT arg_NAME OR NOT arg_SOURCES)
    message(FATAL_ERROR "corosched_add_test: NAME and SOURCES are required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
      "corosched_add_test(${arg_NAME}): unexpected arguments '${arg_UNPARSED_ARGUMENTS}'")
  endif()

  add_executable(${arg_NAME} ${arg_SOURCES})
  target_link_libraries(${arg_NAME} PRIVATE ${arg_DEPS} GTest::gmock GTest::gtest_main)
  corosched_set_warnings(${arg_NAME})
  if(arg_RUNNER)
    # gtest_discover_tests puts a target's emulator in front of each command it makes
    # (it reads the property when called, so set it first).
    set_target_properties(${arg_NAME} PROPERTIES CROSSCOMPILING_EMULATOR "${arg_RUNNER}")
  endif()

  gtest_discover_tests(${arg_NAME}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 60
    TEST_LIST ${arg_NAME}_TESTS)

  if(arg_LABELS)
    # gtest_discover_tests(PROPERTIES LABELS a;b) keeps only the first label, so label the
    # discovered cases from a file ctest includes after the discovery script.
    set(labels_file ${CMAKE_CURRENT_BINARY_DIR}/${arg_NAME}_labels.cmake)
    set(tests_var ${arg_NAME}_TESTS)
    file(CONFIGURE OUTPUT ${labels_file} @ONLY CONTENT [[
if(@tests_var@)
  set_tests_properties(${@tests_var@} PROPERTIES LABELS "@arg_LABELS@")
endif()
]])
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${labels_file})
  endif()
endfunction()
