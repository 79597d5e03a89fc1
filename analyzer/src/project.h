/*
 * Projects: what ash_project_open found (root, configuration, files, source roots) and the
 * graph building over them. The public functions are declared in aftershock/analyzer.h.
 */
#ifndef ASH_PROJECT_H
#define ASH_PROJECT_H

#include "util.h"

#endif
