# amo_bench: what at-most-once costs in rpxd (spawn+wait with and without
# --fsync, a cache hit beside a NULL call, memory per cached entry). Run by
# hand: build/bench/amo_bench build/server/rpxd. Included from
# bench/CMakeLists.txt: include(${CMAKE_CURRENT_SOURCE_DIR}/amo_bench.cmake)
add_executable(amo_bench ${CMAKE_CURRENT_LIST_DIR}/amo_bench.c)
target_compile_options(amo_bench PRIVATE ${RPX_WARN_FLAGS})
target_link_libraries(amo_bench PRIVATE rpx::rpx_static)
