# cmake -D EXE=prog -D OUTPUT=prog.1 -D NAME=prog -D SUMMARY=... -D VERSION=x.y.z
#       -D SEE_ALSO="a b c" -P NbclManPage.cmake
# Writes a man page (groff -man) from `prog --help`, so that it says exactly what the help says:
#   "usage: ..."                              -> SYNOPSIS
#   "  OPTION ARGS    text" (2+ blanks)       -> an indented paragraph per option (.TP)
#   a line indented 3+ blanks                 -> continues the previous paragraph
#   any other line                            -> a paragraph of its own
execute_process(COMMAND ${EXE} --help OUTPUT_VARIABLE help ERROR_VARIABLE help_err
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR help STREQUAL "")
  message(FATAL_ERROR "${EXE} --help failed (${rc}): ${help_err}")
endif()

# groff escapes; then protect what CMake lists would split on or group by ([ ] ;)
function(nbcl_roff out text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REGEX REPLACE "^([.'])" "\\\\&\\1" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()
string(REPLACE ";" "@NBCL_SEMI@" help "${help}")
string(REPLACE "[" "@NBCL_LB@" help "${help}")
string(REPLACE "]" "@NBCL_RB@" help "${help}")
string(REGEX REPLACE "\n$" "" help "${help}")
string(REPLACE "\n" ";" lines "${help}")

string(TOUPPER "${NAME}" upper)
set(synopsis "")
set(body "")
foreach(line IN LISTS lines)
  string(REPLACE "@NBCL_SEMI@" ";" line "${line}")
  string(REPLACE "@NBCL_LB@" "[" line "${line}")
  string(REPLACE "@NBCL_RB@" "]" line "${line}")
  if(line MATCHES "^usage: (.*)$")
    nbcl_roff(t "${CMAKE_MATCH_1}")
    string(APPEND synopsis "${t}\n")
  elseif(line MATCHES "^  ([^ ]([^ ]| [^ ])*)  +([^ ].*)$")
    nbcl_roff(opt "${CMAKE_MATCH_1}")
    nbcl_roff(t "${CMAKE_MATCH_3}")
    string(APPEND body ".TP\n\\fB${opt}\\fR\n${t}\n")
  elseif(line MATCHES "^   +([^ ].*)$")
    nbcl_roff(t "${CMAKE_MATCH_1}")
    string(APPEND body "${t}\n")
  elseif(line MATCHES "^ *$")
    string(APPEND body ".PP\n")
  else()
    string(STRIP "${line}" line)
    nbcl_roff(t "${line}")
    string(APPEND body ".PP\n${t}\n")
  endif()
endforeach()

set(see "")
separate_arguments(others UNIX_COMMAND "${SEE_ALSO}")
foreach(o IN LISTS others)
  if(NOT o STREQUAL NAME)
    nbcl_roff(t "${o}")
    if(see)
      string(APPEND see ",\n")
    endif()
    string(APPEND see ".BR ${t} (1)")
  endif()
endforeach()

nbcl_roff(name_roff "${NAME}")
set(page ".\\\" generated from `${NAME} --help` by cmake/NbclManPage.cmake: do not edit
.TH ${upper} 1 \"\" \"nbcl ${VERSION}\" \"nanoBragg-CL\"
.SH NAME
${name_roff} \\- ${SUMMARY}
.SH SYNOPSIS
.nf
${synopsis}.fi
.SH DESCRIPTION
${body}.SH SEE ALSO
${see}
.PP
The documentation in the source tree: README.md, docs/exit_codes.md, docs/benchmarks.md.
")
file(WRITE ${OUTPUT}.tmp "${page}")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
