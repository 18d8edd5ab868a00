#include "seat/names.h"
