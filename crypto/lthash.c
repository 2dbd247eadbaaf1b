typedef int px__placeholder_lthash;
