"""Code for the scripts that load third-party libraries once in a fresh interpreter and then fork
a child per check (tests/layout/test_imports.py, tests/shell/test_config.py).

`COMPILE_ONCE` compiles each source of the packages named by the script's `PROJECT` (in its
working directory, from which the children import them) to the code object importlib would build, without running any of it, and has
importlib take it from there: no `.pyc` is written in the test runs, so every child would
compile the same files again. A file that changed since, or does not compile, is compiled by the
child as usual (and its error reported there). It then tells the collector to leave the objects
loaded so far alone (`gc.freeze`), which the children share.
"""

COMPILE_ONCE = r"""
import gc, importlib.machinery, os
compiled = {}
for package in PROJECT:
    if package == "tests":
        continue
    for folder, _, files in os.walk(os.path.join(os.getcwd(), package)):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                with open(path, "rb") as source:
                    data = source.read()
                try:
                    compiled[path] = (data, compile(data, path, "exec", dont_inherit=True))
                except (SyntaxError, ValueError):
                    pass  # the child compiles it and reports the error
_source_to_code = importlib.machinery.SourceFileLoader.source_to_code

def source_to_code(self, data, path, *, _optimize=-1):
    known = compiled.get(path)
    if known is not None and known[0] == data and _optimize == -1:
        return known[1]
    return _source_to_code(self, data, path, _optimize=_optimize)

importlib.machinery.SourceFileLoader.source_to_code = source_to_code
gc.freeze()
"""
