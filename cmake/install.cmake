# What `cmake --install` (and `make install`) puts under the prefix: the three binaries, the public headers,
# the libraries a user program links (halo::api and what it needs), the CMake package (haloConfig.cmake with
# the exported targets) and halo.pc.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS halo halo-gcs halo-node RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/halo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(HALO_USER_LIBRARIES halo_api halo_rpc halo_health halo_common halo_proto)
set_target_properties(halo_api PROPERTIES EXPORT_NAME api)
set_target_properties(halo_rpc PROPERTIES EXPORT_NAME rpc)
set_target_properties(halo_health PROPERTIES EXPORT_NAME health)
set_target_properties(halo_common PROPERTIES EXPORT_NAME common)
set_target_properties(halo_proto PROPERTIES EXPORT_NAME proto)
install(TARGETS ${HALO_USER_LIBRARIES} EXPORT haloTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT haloTargets NAMESPACE halo:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/halo)

configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/haloConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/haloConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/halo)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/haloConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/haloConfig.cmake ${CMAKE_BINARY_DIR}/haloConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/halo)

# Evaluated at install time, so `cmake --install --prefix P` writes P into it.
install(CODE "
  set(CMAKE_INSTALL_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/cmake/halo.pc.in\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/halo.pc\" @ONLY)
  message(STATUS \"Installing: \${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/halo.pc\")
")
