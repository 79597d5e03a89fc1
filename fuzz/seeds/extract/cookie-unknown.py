# coding: no-such-codec
import still_read
