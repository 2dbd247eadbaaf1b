typedef int px__placeholder_lmdb;
