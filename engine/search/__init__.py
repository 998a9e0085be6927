"""Search: the English and CJK analysis (`analysis`), the search-box syntax (`query`), the Tantivy
chunk index (`schema`, `documents`, `queries`, `index`) and highlighting (`highlight`)."""
