# -*- coding: latin-1 -*-
# café
import café_mod
import os
