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

# Relocatable: the prefix is found from where halo.pc lies (pkg-config's pcfiledir), so the same file serves
# `cmake --install --prefix P`, `make install` and the Debian package.
file(RELATIVE_PATH HALO_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file(${CMAKE_SOURCE_DIR}/cmake/halo.pc.in ${CMAKE_BINARY_DIR}/halo.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/halo.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
