"""The files staff download from the console (issue 13, exports), rendered from what
`voting.queries` read: no database access here.

- `workbooks`: the turnout list and the result of a consultation as Excel (openpyxl);
- `publicity`: the printable publicity sheet (公示) of a result as PDF (reportlab), its Chinese
  text in a CJK font embedded in the file (`fonts`).
"""
