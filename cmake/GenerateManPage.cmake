# cmake -DEXPORTER=<binary> -DOUTPUT=<file.1> -P GenerateManPage.cmake
# Writes <file.1> from `<binary> --man` and <file.1>.gz next to it.
foreach(var EXPORTER OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "GenerateManPage.cmake: -D${var}=... is required")
  endif()
endforeach()

execute_process(COMMAND ${EXPORTER} --man
                OUTPUT_FILE ${OUTPUT}.tmp
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUTPUT}.tmp)
  message(FATAL_ERROR "${EXPORTER} --man failed (${rc})")
endif()
file(READ ${OUTPUT}.tmp page)
if(NOT page MATCHES "^\\.TH REDIS_HA_EXPORTER 1")
  message(FATAL_ERROR "${EXPORTER} --man printed no man page")
endif()
file(RENAME ${OUTPUT}.tmp ${OUTPUT})

execute_process(COMMAND gzip -9 -n -c ${OUTPUT}
                OUTPUT_FILE ${OUTPUT}.gz
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip ${OUTPUT} failed (${rc})")
endif()
