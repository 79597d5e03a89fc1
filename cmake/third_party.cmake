# The tree-sitter runtime and Python grammar C sources, for a build that has no third_party/
# (a wheel built by pip from a git clone or an sdist, as pre-commit does): the sdists pinned in
# scripts/deps.txt are fetched with pip from the package index, checked against their sha256
# sums and unpacked into the build tree, laid out as scripts/setup.sh lays out third_party/.
#
#   ash_fetch_third_party(<out-dir>)   sets <out-dir>/tree-sitter-lib and tree-sitter-python-src
#
# Needs a Python with pip (the interpreter running the build backend; pip's build isolation
# hides pip from it, so it runs with PYTHONPATH unset) and access to the index.

function(ash_fetch_third_party dest)
    set(python "${Python_EXECUTABLE}")
    if(NOT python)
        find_program(python NAMES python3 python)
    endif()
    set(download "${dest}/download")
    file(MAKE_DIRECTORY "${download}")
    file(STRINGS "${CMAKE_CURRENT_SOURCE_DIR}/scripts/deps.txt" lines)
    foreach(line ${lines})
        if(line MATCHES "^[ \t]*(#|$)")
            continue()
        endif()
        string(REGEX REPLACE "[ \t]+" ";" fields "${line}")
        list(GET fields 0 name)
        list(GET fields 1 version)
        list(GET fields 2 sum)
        string(REPLACE "-" "[-_]" pattern "${name}")
        file(GLOB found "${download}/*.tar.gz")
        list(FILTER found INCLUDE REGEX "/${pattern}-${version}\\.tar\\.gz$")
        if(NOT found)
            message(STATUS "aftershock: fetching the ${name} ${version} sdist with pip")
            execute_process(
                COMMAND ${CMAKE_COMMAND} -E env --unset=PYTHONPATH --unset=PYTHONNOUSERSITE
                        "${python}" -m pip download -q --disable-pip-version-check --no-deps
                        --no-binary :all: -d "${download}" "${name}==${version}"
                RESULT_VARIABLE status ERROR_VARIABLE err OUTPUT_QUIET)
            file(GLOB found "${download}/*.tar.gz")
            list(FILTER found INCLUDE REGEX "/${pattern}-${version}\\.tar\\.gz$")
            if(NOT status EQUAL 0 OR NOT found)
                message(FATAL_ERROR
                    "aftershock: could not fetch the ${name} ${version} sdist with "
                    "`${python} -m pip download` (${err}).\nIn a checkout, run `make setup` "
                    "(it fills third_party/), or pass -DASH_THIRD_PARTY=<a third_party/ "
                    "directory made by scripts/setup.sh>.")
            endif()
        endif()
        file(SHA256 "${found}" actual)
        if(NOT actual STREQUAL sum)
            file(REMOVE "${found}")
            message(FATAL_ERROR "aftershock: ${found}: sha256 ${actual}, expected ${sum}")
        endif()
        set(unpacked "${dest}/${name}-${version}")
        if(NOT EXISTS "${unpacked}/.ok")
            file(REMOVE_RECURSE "${unpacked}" "${dest}/unpack")
            file(ARCHIVE_EXTRACT INPUT "${found}" DESTINATION "${dest}/unpack")
            file(GLOB top "${dest}/unpack/*")
            file(RENAME "${top}" "${unpacked}")
            file(REMOVE_RECURSE "${dest}/unpack")
            file(TOUCH "${unpacked}/.ok")
        endif()
        set(dir_${name} "${unpacked}")
    endforeach()
    if(NOT dir_tree-sitter OR NOT dir_tree-sitter-python)
        message(FATAL_ERROR "aftershock: scripts/deps.txt must name tree-sitter and tree-sitter-python")
    endif()
    # The same layout as scripts/setup.sh: the grammar sees the runtime's parser headers.
    set(lib "${dir_tree-sitter}/tree_sitter/core/lib")
    set(grammar "${dir_tree-sitter-python}/src")
    foreach(h parser.h array.h alloc.h ts_assert.h)
        configure_file("${lib}/src/${h}" "${grammar}/tree_sitter/${h}" COPYONLY)
    endforeach()
    file(CREATE_LINK "${lib}" "${dest}/tree-sitter-lib" SYMBOLIC)
    file(CREATE_LINK "${grammar}" "${dest}/tree-sitter-python-src" SYMBOLIC)
endfunction()
