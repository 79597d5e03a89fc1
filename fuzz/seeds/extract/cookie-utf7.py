# coding: utf-7
import a
+AGk-mport b
