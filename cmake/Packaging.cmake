# Debian package: `cpack -G DEB` in the build directory (after the build).
#
# Package name redis-ha-exporter (Debian names allow no underscore); the files keep the
# project's name. Dependencies are computed by dpkg-shlibdeps from the binary's
# shared libraries (dpkg-dev). /etc/redis_ha_exporter/config.yml is a conffile. The
# service is installed but neither enabled nor started: it needs the user's Sentinels
# in the config first (`systemctl enable --now redis_ha_exporter`).
#
# Include after Install.cmake, as the last packaging-related line of the top-level file.

set(REDIS_HA_PACKAGE_CONTACT "redis_ha_exporter developers <redis-ha-exporter@localhost.invalid>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "redis-ha-exporter")
set(CPACK_PACKAGE_VENDOR "redis_ha_exporter")
set(CPACK_PACKAGE_CONTACT "${REDIS_HA_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Prometheus exporter and rollout gate for Redis/Valkey Sentinel high availability")
set(CPACK_PACKAGE_DESCRIPTION
    "Watches every Sentinel and data node of each Redis or Valkey Sentinel group, derives\n\
split-brain and empty-primary risks and a rollout gate, and serves them over HTTP:\n\
Prometheus metrics, a JSON API, a gate endpoint for deploy tools and a status page.\n\
Ships Prometheus alerting and recording rules, Grafana dashboards and a hardened\n\
systemd unit.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME "${CPACK_PACKAGE_NAME}")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, redis-sentinel")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Maintainer scripts and conffiles. CPack copies them into the control archive.
set(_redis_ha_deb_dir ${PROJECT_BINARY_DIR}/debian-control)
file(MAKE_DIRECTORY ${_redis_ha_deb_dir})
file(WRITE ${_redis_ha_deb_dir}/conffiles "/etc/redis_ha_exporter/config.yml\n")
foreach(script postinst prerm postrm)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/debian/${script} ${_redis_ha_deb_dir}/${script}
                 COPYONLY)
  file(CHMOD ${_redis_ha_deb_dir}/${script}
       PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                   WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_redis_ha_deb_dir}/conffiles ${_redis_ha_deb_dir}/postinst
    ${_redis_ha_deb_dir}/prerm ${_redis_ha_deb_dir}/postrm)

# `make package_source`: the source tree without build directories or VCS data.
set(CPACK_SOURCE_GENERATOR "TGZ")
set(CPACK_SOURCE_IGNORE_FILES "/build[^/]*/" "/\\\\.git/" "/\\\\.cache/")

include(CPack)
