typedef int px__placeholder_hash;
