# server_code.cmake: rpxd's code without its main(), for the unit tests and
# the fuzz targets, which drive the dispatcher directly. The list is read
# from the rpxd target, so a file added to the daemon needs no change here;
# linking a static library pulls in only the objects a test needs.
#
# Sets RPX_TEST_SERVER_SOURCES (absolute paths, rpx_gen objects included)
# and defines the static library rpx_test_server once.
if(NOT TARGET rpxd)
	message(FATAL_ERROR "tests need the rpxd target (server/)")
endif()
get_target_property(rpx_rpxd_sources rpxd SOURCES)
get_target_property(rpx_rpxd_dir rpxd SOURCE_DIR)
set(RPX_TEST_SERVER_SOURCES)
foreach(src ${rpx_rpxd_sources})
	if(src MATCHES "^\\$<" OR IS_ABSOLUTE "${src}")
		list(APPEND RPX_TEST_SERVER_SOURCES ${src})
	elseif(NOT src STREQUAL "rpxd.c")
		list(APPEND RPX_TEST_SERVER_SOURCES ${rpx_rpxd_dir}/${src})
	endif()
endforeach()

# Compiled and linked as rpxd is: its definitions, include folders, libraries.
get_target_property(rpx_rpxd_defs rpxd COMPILE_DEFINITIONS)
get_target_property(rpx_rpxd_incs rpxd INCLUDE_DIRECTORIES)
get_target_property(rpx_rpxd_libs rpxd LINK_LIBRARIES)
foreach(var rpx_rpxd_defs rpx_rpxd_incs rpx_rpxd_libs)
	if(NOT ${var})
		set(${var})
	endif()
endforeach()
# Imported targets made in server/ (pkg_check_modules) are not visible here;
# the objects the tests pull in do not need them.
set(rpx_libs ${rpx_rpxd_libs})
set(rpx_rpxd_libs)
foreach(lib ${rpx_libs})
	if(TARGET ${lib} OR NOT lib MATCHES "::")
		list(APPEND rpx_rpxd_libs ${lib})
	endif()
endforeach()

if(NOT TARGET rpx_test_server)
	add_library(rpx_test_server STATIC ${RPX_TEST_SERVER_SOURCES})
	target_compile_options(rpx_test_server PRIVATE ${RPX_WARN_FLAGS})
	target_compile_definitions(rpx_test_server PRIVATE ${rpx_rpxd_defs})
	target_include_directories(rpx_test_server PUBLIC ${rpx_rpxd_dir} ${RPX_GEN_DIR}
		${rpx_rpxd_incs})
	target_link_libraries(rpx_test_server PUBLIC rpx_xdr PkgConfig::TIRPC PkgConfig::LIBEVENT
		${rpx_rpxd_libs})
endif()
