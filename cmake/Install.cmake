# `cmake --install` produces a package that `find_package(runtrack CONFIG REQUIRED)` finds.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/runtrack DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS runtrack EXPORT runtrackTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT runtrackTargets NAMESPACE runtrack::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/runtrack)

configure_package_config_file(cmake/runtrackConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/runtrackConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/runtrack)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/runtrackConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/runtrackConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/runtrackConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/runtrack)
