# Runs at install time (install(SCRIPT) from Install.cmake), when CMAKE_INSTALL_PREFIX is
# the prefix actually installed to: /usr under CPack, X under `cmake --install --prefix X`.
# Expects REDIS_HA_SOURCE_DIR, REDIS_HA_BINARY_DIR and REDIS_HA_BINDIR.
#
# - The configuration directory follows GNUInstallDirs: /etc for the prefix /usr (and /),
#   <prefix>/etc otherwise. An existing config.yml is never overwritten.
# - The systemd unit is written with the installed binary's and config's real paths.

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/")
  set(_redis_ha_etc "/etc/redis_ha_exporter")
else()
  set(_redis_ha_etc "${CMAKE_INSTALL_PREFIX}/etc/redis_ha_exporter")
endif()
if(IS_ABSOLUTE "${REDIS_HA_BINDIR}")
  set(_redis_ha_bin "${REDIS_HA_BINDIR}/redis_ha_exporter")
else()
  set(_redis_ha_bin "${CMAKE_INSTALL_PREFIX}/${REDIS_HA_BINDIR}/redis_ha_exporter")
endif()

# Configuration (a conffile in the DEB).
if(EXISTS "$ENV{DESTDIR}${_redis_ha_etc}/config.yml")
  message(STATUS "Keeping: $ENV{DESTDIR}${_redis_ha_etc}/config.yml")
else()
  file(INSTALL DESTINATION "${_redis_ha_etc}" TYPE FILE
       RENAME config.yml
       FILES "${REDIS_HA_SOURCE_DIR}/deploy/config.example.yml")
endif()

# systemd unit, with the paths of this installation.
file(READ "${REDIS_HA_SOURCE_DIR}/deploy/systemd/redis_ha_exporter.service" _redis_ha_unit)
string(REPLACE "/usr/bin/redis_ha_exporter" "${_redis_ha_bin}" _redis_ha_unit "${_redis_ha_unit}")
string(REPLACE "/etc/redis_ha_exporter/" "${_redis_ha_etc}/" _redis_ha_unit "${_redis_ha_unit}")
# One staging directory per destination, so concurrent installs do not share a file.
string(MD5 _redis_ha_key "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
set(_redis_ha_stage "${REDIS_HA_BINARY_DIR}/install-staging/${_redis_ha_key}")
file(WRITE "${_redis_ha_stage}/redis_ha_exporter.service" "${_redis_ha_unit}")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     FILES "${_redis_ha_stage}/redis_ha_exporter.service")
