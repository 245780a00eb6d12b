# `cmake --install <build>` (component `client`): the client library, its
# headers, the generated proto headers and libraries it needs, and a CMake
# package so another project can write
#
#   find_package(corosched CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE corosched::client)
#
# and `#include "client/client.h"`. Layout under the prefix:
#   include/corosched/client/*.h            the client's public headers
#   include/corosched/corosched/v1/*.pb.h   generated messages and stubs
#   lib/libcorosched_{client,proto,proto_grpc}.a
#   lib/cmake/corosched/                    the package
#   share/corosched/proto/corosched/v1/     the .proto files, for other languages
#
# proto/'s targets are not in the export set (their build-tree include
# directory cannot be exported), so the package declares them itself as
# imported targets corosched::proto and corosched::proto_grpc.

include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

set(_corosched_include_root ${CMAKE_INSTALL_INCLUDEDIR}/corosched)
set(_corosched_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/corosched)

install(TARGETS corosched_client
  EXPORT corosched-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT client
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT client
  INCLUDES DESTINATION ${_corosched_include_root})
install(FILES
    client.h
    connection.h
    definition_json.h
    json_syntax.h
    status.h
    task_watch.h
    worker.h
  DESTINATION ${_corosched_include_root}/client
  COMPONENT client)

install(FILES
    $<TARGET_FILE:corosched_proto>
    $<TARGET_FILE:corosched_proto_grpc>
  DESTINATION ${CMAKE_INSTALL_LIBDIR}
  COMPONENT client)
get_target_property(_corosched_proto_gen corosched_proto
  INTERFACE_INCLUDE_DIRECTORIES)
install(DIRECTORY ${_corosched_proto_gen}/corosched
  DESTINATION ${_corosched_include_root}
  COMPONENT client
  FILES_MATCHING PATTERN "*.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/proto/corosched
  DESTINATION ${CMAKE_INSTALL_DATADIR}/corosched/proto
  COMPONENT client
  FILES_MATCHING PATTERN "*.proto")

install(EXPORT corosched-targets
  NAMESPACE corosched::
  DESTINATION ${_corosched_cmake_dir}
  COMPONENT client)

# Two steps: configure_package_config_file fills in @PACKAGE_...@ paths, then
# file(GENERATE) resolves the proto libraries' file names.
set(COROSCHED_PROTO_LIBRARY_FILE $<TARGET_FILE_NAME:corosched_proto>)
set(COROSCHED_PROTO_GRPC_LIBRARY_FILE $<TARGET_FILE_NAME:corosched_proto_grpc>)
set(COROSCHED_INSTALL_INCLUDE_DIR ${_corosched_include_root})
set(COROSCHED_INSTALL_LIB_DIR ${CMAKE_INSTALL_LIBDIR})
configure_package_config_file(corosched-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/corosched-config.cmake.genex
  INSTALL_DESTINATION ${_corosched_cmake_dir}
  PATH_VARS COROSCHED_INSTALL_INCLUDE_DIR COROSCHED_INSTALL_LIB_DIR)
file(GENERATE
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/corosched-config.cmake
  INPUT ${CMAKE_CURRENT_BINARY_DIR}/corosched-config.cmake.genex)
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/corosched-config-version.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
    ${CMAKE_CURRENT_BINARY_DIR}/corosched-config.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/corosched-config-version.cmake
  DESTINATION ${_corosched_cmake_dir}
  COMPONENT client)
