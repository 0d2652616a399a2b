# librpx: the rpcgen output (rpx_gen) plus the hand-written client layer,
# built shared (librpx.so, SONAME librpx.so.0) and static (librpx.a), with
# headers, pkg-config file and CMake package (rpx::rpx). Included from
# stubs/CMakeLists.txt, where rpx_gen, RPX_GEN_DIR and RPX_GEN_HEADERS live.

set(RPX_CLNT_SOURCES
	${CMAKE_CURRENT_SOURCE_DIR}/clnt_url.c
	${CMAKE_CURRENT_SOURCE_DIR}/clnt_conn.c
	${CMAKE_CURRENT_SOURCE_DIR}/clnt_conn_tls.c
	${CMAKE_CURRENT_SOURCE_DIR}/clnt_date.c
	${CMAKE_CURRENT_SOURCE_DIR}/clnt_proc.c
	${CMAKE_CURRENT_SOURCE_DIR}/clnt_async.c
	${CMAKE_CURRENT_SOURCE_DIR}/clnt_async_sync.c
	${CMAKE_CURRENT_SOURCE_DIR}/clnt_fanout.c
	${CMAKE_CURRENT_SOURCE_DIR}/clnt_tls.c
	# The xdr/ helpers the async client uses, compiled here so that their
	# symbols stay hidden in librpx.so (rpx_xdr's objects are not).
	${PROJECT_SOURCE_DIR}/xdr/recmark.c
	${PROJECT_SOURCE_DIR}/xdr/rpcmsg.c
	${PROJECT_SOURCE_DIR}/xdr/xdr_evbuf.c)

# The async client (clnt_async.c, clnt_tls.c): libevent with OpenSSL
# bufferevents, and OpenSSL; librpx.a links them, librpx.so loads OpenSSL
# and libevent_openssl at the first tls:// connection (tls_lazy.c).
pkg_check_modules(LIBEVENT_OPENSSL REQUIRED IMPORTED_TARGET libevent_openssl>=2.1)

# Same sources twice: PIC objects for the .so, plain ones would do for the
# .a but rpx_gen is already PIC, so both link the same objects.
foreach(kind shared static)
	if(kind STREQUAL shared)
		set(tgt librpx)
		# tls_lazy.c: OpenSSL and libevent_openssl are loaded at the first
		# tls:// connection, not linked (see the file).
		add_library(${tgt} SHARED ${RPX_CLNT_SOURCES} ${CMAKE_CURRENT_SOURCE_DIR}/tls_lazy.c
			$<TARGET_OBJECTS:rpx_gen>)
		set_target_properties(${tgt} PROPERTIES
			VERSION ${PROJECT_VERSION}
			SOVERSION ${PROJECT_VERSION_MAJOR}
			EXPORT_NAME rpx)
		# --no-undefined: an OpenSSL call without its line in tls_lazy.c
		# fails here, not in a program at run time. Not with the
		# sanitizers: clang's leave their runtime to the program.
		target_link_options(${tgt} PRIVATE -Wl,--as-needed -Wl,-O1)
		if(NOT RPX_SANITIZE)
			target_link_options(${tgt} PRIVATE -Wl,--no-undefined)
		endif()
		target_include_directories(${tgt} PRIVATE
			$<TARGET_PROPERTY:OpenSSL::SSL,INTERFACE_INCLUDE_DIRECTORIES>
			$<TARGET_PROPERTY:PkgConfig::LIBEVENT_OPENSSL,INTERFACE_INCLUDE_DIRECTORIES>)
		target_link_libraries(${tgt} PRIVATE PkgConfig::LIBEVENT ${CMAKE_DL_LIBS})
	else()
		set(tgt librpx_static)
		add_library(${tgt} STATIC ${RPX_CLNT_SOURCES} $<TARGET_OBJECTS:rpx_gen>)
		set_target_properties(${tgt} PROPERTIES EXPORT_NAME rpx_static)
	endif()
	set_target_properties(${tgt} PROPERTIES
		OUTPUT_NAME rpx
		POSITION_INDEPENDENT_CODE ON
		C_VISIBILITY_PRESET hidden)
	add_dependencies(${tgt} rpx_gen_headers)
	target_compile_options(${tgt} PRIVATE ${RPX_WARN_FLAGS})
	target_compile_definitions(${tgt} PRIVATE RPX_VERSION="${PROJECT_VERSION}")
	target_include_directories(${tgt} PUBLIC
		$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
		$<BUILD_INTERFACE:${RPX_GEN_DIR}>
		$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
	# Public: <rpx/client.h> includes <rpc/rpc.h> and hands out a CLIENT *.
	target_link_libraries(${tgt} PUBLIC PkgConfig::TIRPC)
	target_include_directories(${tgt} PRIVATE ${PROJECT_SOURCE_DIR}/xdr)
	if(kind STREQUAL static)
		target_link_libraries(${tgt} PRIVATE PkgConfig::LIBEVENT_OPENSSL PkgConfig::LIBEVENT
			OpenSSL::SSL OpenSSL::Crypto)
	endif()
endforeach()
add_library(rpx::rpx ALIAS librpx)
add_library(rpx::rpx_static ALIAS librpx_static)

install(TARGETS librpx librpx_static EXPORT rpxTargets
	LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
	ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
	RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
	INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/rpx/client.h
	${CMAKE_CURRENT_SOURCE_DIR}/include/rpx/proc_client.h
	${CMAKE_CURRENT_SOURCE_DIR}/include/rpx/async.h
	${CMAKE_CURRENT_SOURCE_DIR}/include/rpx/fanout.h
	${CMAKE_CURRENT_SOURCE_DIR}/include/rpx/api.h ${RPX_GEN_HEADERS}
	DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rpx)

# pkg-config: prefix relative to the .pc file, so `cmake --install --prefix`
# and DESTDIR both give a working file.
file(RELATIVE_PATH RPX_PC_TO_PREFIX
	${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" RPX_PC_TO_PREFIX "${RPX_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/librpx.pc.in
	${CMAKE_CURRENT_BINARY_DIR}/librpx.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/librpx.pc
	DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake package: find_package(rpx) -> rpx::rpx (shared), rpx::rpx_static.
include(CMakePackageConfigHelpers)
set(RPX_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/rpx)
install(EXPORT rpxTargets NAMESPACE rpx:: DESTINATION ${RPX_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/rpxConfig.cmake.in
	${CMAKE_CURRENT_BINARY_DIR}/rpxConfig.cmake
	INSTALL_DESTINATION ${RPX_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/rpxConfigVersion.cmake
	VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/rpxConfig.cmake
	${CMAKE_CURRENT_BINARY_DIR}/rpxConfigVersion.cmake
	DESTINATION ${RPX_CMAKE_DIR})
