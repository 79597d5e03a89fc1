# coding: latin-1
import contradicts
