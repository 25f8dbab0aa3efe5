# Sourced by the other scripts: VENV_BIN holds .venv's programs (bin/ on Linux and macOS, Scripts/ on Windows),
# VENV_PYTHON is its interpreter.
if [ -e .venv/Scripts/python.exe ]; then
  VENV_BIN=.venv/Scripts
  VENV_PYTHON=.venv/Scripts/python.exe
else
  VENV_BIN=.venv/bin
  VENV_PYTHON=.venv/bin/python
fi
