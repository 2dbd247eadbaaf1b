typedef int px__placeholder_pool; /* written next */
