# cnnkit_plugin.cmake: cnnkit_add_plugin(NAME SOURCES ... [SHADERS x.comp ...] [TESTS t.cpp ...])
# Builds libcnnkit_NAME.so against the SDK only, compiles each shader with glslc and embeds its
# SPIR-V as NAME_spv.h (x.comp -> x_spv[] / x_spv_words). In the cnnkit tree, TESTS join
# cnnkit_tests; out of tree (installed SDK) they are ignored.
set(_cnnkit_plugin_cmake_dir ${CMAKE_CURRENT_LIST_DIR})

function(cnnkit_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;SHADERS;TESTS" ${ARGN})
  set(target cnnkit_${name})
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib" OUTPUT_NAME "cnnkit_${name}"
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(TARGET cnnkit_sdk)
    target_link_libraries(${target} PRIVATE cnnkit_sdk)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CNNKIT_PLUGIN_OUTPUT_DIR})
    install(TARGETS ${target} LIBRARY DESTINATION ${CNNKIT_INSTALL_PLUGIN_DIR})
  else()
    target_link_libraries(${target} PRIVATE cnnkit::sdk)
  endif()
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/${target}_gen)
  target_include_directories(${target} PRIVATE ${gen})
  foreach(shader ${P_SHADERS})
    get_filename_component(stem ${shader} NAME_WE)
    set(spv ${gen}/${stem}.spv)
    set(hdr ${gen}/${stem}_spv.h)
    add_custom_command(OUTPUT ${hdr}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${gen}
      COMMAND ${GLSLC} --target-env=vulkan1.1 -O -o ${spv} ${CMAKE_CURRENT_SOURCE_DIR}/${shader}
      COMMAND ${CMAKE_COMMAND} -DIN=${spv} -DOUT=${hdr} -DNAME=${stem}_spv
              -P ${_cnnkit_plugin_cmake_dir}/embed_spirv.cmake
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${shader} VERBATIM)
    target_sources(${target} PRIVATE ${hdr})
  endforeach()
  if(P_TESTS AND COMMAND cnnkit_add_plugin_tests)
    cnnkit_add_plugin_tests(${name} ${P_TESTS})
  endif()
endfunction()
