# Interface targets instead of global flags: link what a target needs.

add_library(tw_warnings INTERFACE)
add_library(tw::warnings ALIAS tw_warnings)
target_compile_options(tw_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough
  # GCC 12 warns about std::string concatenation at -O2 (a false positive, GCC bug 105329).
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_GREATER_EQUAL:$<CXX_COMPILER_VERSION>,12>>:-Wno-restrict>)

set(TW_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
add_library(tw_sanitizers INTERFACE)
add_library(tw::sanitizers ALIAS tw_sanitizers)
if(TW_SANITIZE)
  target_compile_options(tw_sanitizers INTERFACE
    -fsanitize=${TW_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(tw_sanitizers INTERFACE -fsanitize=${TW_SANITIZE})
endif()

# Fuzz builds: coverage instrumentation for libFuzzer in every project library.
if(TW_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TW_FUZZ needs clang (cmake --preset fuzz, or CXX=clang++)")
  endif()
  target_compile_options(tw_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()

# Every project library and executable links this pair.
add_library(tw_options INTERFACE)
add_library(tw::options ALIAS tw_options)
target_link_libraries(tw_options INTERFACE tw::warnings tw::sanitizers)
target_include_directories(tw_options INTERFACE ${PROJECT_SOURCE_DIR})
