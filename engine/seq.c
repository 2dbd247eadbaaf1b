typedef int px__placeholder_seq; /* written next */
