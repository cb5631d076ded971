# `make package` (cpack -G DEB in the build directory): a Debian package of what `make install` installs,
# under /usr, its dependencies on Debian's shared libraries computed by dpkg-shlibdeps.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME halo)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Halo")
set(CPACK_PACKAGE_CONTACT "Halo developers <halo-dev@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Halo: C++ functions and classes as fault-tolerant tasks and actors on a cluster")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES TRUE)  # the build keeps its debug information; the package does not
# A user program built against the package needs the headers of what halo.pc requires.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libgrpc++-dev, libprotobuf-dev, libspdlog-dev, libyaml-cpp-dev, libssl-dev")
include(CPack)
