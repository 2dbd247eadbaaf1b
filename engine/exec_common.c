typedef int px__placeholder_exec_common; /* written next */
