# Installing throttlewatch like any Debian tool, and the .deb that does it (CPack DEB):
#   cmake --preset package && cmake --build --preset package && cpack --preset package
# The man page is made from `throttlewatch --help` by help2man, so it never drifts from the help.
# The files of the system side (the unit, logrotate, /etc) go to absolute paths, component
# "system"; the rest below the install prefix.
include(GNUInstallDirs)

find_program(HELP2MAN help2man REQUIRED)  # deploy/install-deps.sh installs it
find_program(GZIP gzip REQUIRED)
set(TW_MAN ${PROJECT_BINARY_DIR}/throttlewatch.1)
add_custom_command(
  OUTPUT ${TW_MAN}.gz
  COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1
          --include=${PROJECT_SOURCE_DIR}/deploy/man/throttlewatch.h2m
          --output=${TW_MAN} $<TARGET_FILE:throttlewatch>
  COMMAND ${GZIP} -9nf ${TW_MAN}
  DEPENDS throttlewatch ${PROJECT_SOURCE_DIR}/deploy/man/throttlewatch.h2m
  COMMENT "throttlewatch(1) from throttlewatch --help"
  VERBATIM)
add_custom_target(manpage ALL DEPENDS ${TW_MAN}.gz)

# Debian wants a changelog, compressed like the man page, even for a native package.
set(TW_CHANGELOG ${PROJECT_BINARY_DIR}/changelog)
configure_file(${PROJECT_SOURCE_DIR}/deploy/debian/changelog.in ${TW_CHANGELOG} @ONLY)
add_custom_command(
  OUTPUT ${TW_CHANGELOG}.gz
  COMMAND ${GZIP} -9nkf ${TW_CHANGELOG}
  DEPENDS ${TW_CHANGELOG}
  VERBATIM)
add_custom_target(changelog ALL DEPENDS ${TW_CHANGELOG}.gz)

set(TW_DEPLOY ${PROJECT_SOURCE_DIR}/deploy)
install(FILES ${TW_MAN}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${TW_DEPLOY}/completion/throttlewatch.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME throttlewatch)
install(FILES ${TW_DEPLOY}/completion/_throttlewatch
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${TW_DEPLOY}/prometheus/throttlewatch.rules.yml ${TW_DEPLOY}/prometheus/prometheus.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/throttlewatch/prometheus)
install(FILES ${TW_DEPLOY}/alertmanager/alertmanager.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/throttlewatch/alertmanager)
install(FILES ${TW_DEPLOY}/grafana/throttlewatch.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/throttlewatch/grafana)
install(FILES ${TW_DEPLOY}/config/throttlewatch.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/throttlewatch/examples)
install(FILES ${TW_DEPLOY}/vector/throttlewatch.yaml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/throttlewatch/vector)
install(FILES ${TW_DEPLOY}/debian/copyright ${TW_CHANGELOG}.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/throttlewatch)

# Where this system's systemd looks for units of packages (/lib/systemd/system on Debian 12).
pkg_get_variable(TW_UNIT_DIR systemd systemdsystemunitdir)
if(NOT TW_UNIT_DIR)
  set(TW_UNIT_DIR /lib/systemd/system)
endif()
install(FILES ${TW_DEPLOY}/systemd/throttlewatch@.service DESTINATION ${TW_UNIT_DIR}
        COMPONENT system)
install(FILES ${TW_DEPLOY}/logrotate/throttlewatch DESTINATION /etc/logrotate.d COMPONENT system)
install(FILES ${TW_DEPLOY}/config/throttlewatch.conf DESTINATION /etc/throttlewatch
        COMPONENT system)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME throttlewatch)
set(CPACK_PACKAGE_VENDOR "throttlewatch maintainers")
set(CPACK_PACKAGE_CONTACT "throttlewatch maintainers <maintainers@throttlewatch.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "detect targeted bandwidth throttling, blocking and outages from packets")
set(CPACK_PACKAGE_DESCRIPTION
    "throttlewatch watches the packets of an uplink (a daemon with Prometheus\n\
metrics, one systemd instance per interface) or replays captures, and\n\
reports where a service's throughput was throttled, its traffic blocked,\n\
or the link went out, as hash-chained JSON events with their evidence.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS logrotate)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${TW_DEPLOY}/debian/conffiles ${TW_DEPLOY}/debian/postinst ${TW_DEPLOY}/debian/postrm)
include(CPack)
