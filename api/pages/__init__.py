"""Map pages built with folium: command center, grid worker, planner, and the login page."""
